"""hub: publish the dataset, the model folder and the Gradio Space to the Hugging Face Hub.

Everything goes through the ecosystem's own clients (``datasets.DatasetDict.push_to_hub``,
``huggingface_hub.HfApi``); the command line is ``python -m hub push-dataset|push-model|deploy-space|all``.
"""

from .settings import RepoIds

__all__ = ["RepoIds"]
