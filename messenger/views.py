"""The Telegram webhook: Telegram posts each update here (docs/telegram.md). Checked with the
secret token Telegram was given (X-Telegram-Bot-Api-Secret-Token); the update is stored before
the answer, then acted on. Errors answer with a JSON body `{"error": code, "detail": ...}`."""

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messenger.tasks import telegram_updates
from messenger.telegram import api, inbound

logger = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # an update with a 4096-character text is a few kilobytes


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> JsonResponse:
    if not api.enabled():
        return _error(404, "not_found", "The Telegram channel is not configured.")
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), settings.TELEGRAM["WEBHOOK_SECRET"].encode()):
        return _error(403, "forbidden", "Wrong or missing secret token.")
    if len(request.body) > MAX_BODY:
        return _error(413, "too_large", f"An update is at most {MAX_BODY} bytes.")
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "invalid_json", "The body is not JSON.")
    try:
        row, new = inbound.update_store(data)
    except inbound.BadUpdate as bad:
        return _error(400, "invalid_update", str(bad))
    if new and row is not None and row.chat_id is not None:
        try:
            telegram_updates.delay(row.pk)
        except Exception:
            # Stored: the sweep acts on it. Telegram must not send it again for our failure.
            logger.exception("telegram: an update's handling did not start")
    return JsonResponse({"ok": True, "duplicate": not new})
