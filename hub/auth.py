"""The Hub token: only from ``HF_TOKEN`` or the usual ``hf auth login``; checked once, never printed."""

from __future__ import annotations

from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError

from .settings import PublishError

NO_TOKEN = (
    "no Hugging Face token found: set HF_TOKEN or run `hf auth login` "
    "(a token with write access; see https://huggingface.co/settings/tokens)"
)


def authenticated_api() -> tuple[HfApi, str]:
    """An ``HfApi`` holding the user's token, and the account name the Hub gives it.

    Raises :class:`PublishError` when there is no token or the Hub refuses it.
    """
    token = get_token()
    if not token:
        raise PublishError(NO_TOKEN)
    api = HfApi(token=token, library_name="facemask-hub")
    try:
        user = api.whoami()
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:
            raise PublishError(f"the Hub at {api.endpoint} refused the token (401): check HF_TOKEN or log in again") from None
        raise
    return api, str(user.get("name", ""))
