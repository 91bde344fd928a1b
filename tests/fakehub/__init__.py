"""A real local HTTP server speaking enough of the Hugging Face Hub API for huggingface_hub, datasets and timm.

    with run_hub(token="hf_test_token") as hub:        # free port on 127.0.0.1
        env = client_env(hub, hf_home=tmp / "hf")      # HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_DISABLE_XET=1, ...
        subprocess.run([sys.executable, "push.py"], env=env, check=True, timeout=120)
        assert "model.safetensors" in hub.repo("tester/my-model").lfs_files()
"""

from .client import client_env, run_client
from .protocol import RequestRecord
from .server import HubHandle, run_hub
from .views import RepoView

__all__ = ["HubHandle", "RepoView", "RequestRecord", "client_env", "run_client", "run_hub"]
