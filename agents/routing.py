from channels.auth import AuthMiddlewareStack
from django.urls import path

from agents.consumers import StaffConsumer
from chat.origins import ExactOriginValidator

websocket_urlpatterns = [
    path("ws/console/", ExactOriginValidator(AuthMiddlewareStack(StaffConsumer.as_asgi()), "CONSOLE_ALLOWED_ORIGINS")),
]
