from channels.auth import AuthMiddlewareStack
from django.urls import path

from chat.consumers.staff import StaffConsumer
from chat.consumers.visitor import VisitorConsumer
from chat.engine.origins import ExactOriginValidator

websocket_urlpatterns = [
    path("ws/visitor/", ExactOriginValidator(VisitorConsumer.as_asgi(), "WIDGET_ALLOWED_ORIGINS")),
    path("ws/console/", ExactOriginValidator(AuthMiddlewareStack(StaffConsumer.as_asgi()), "CONSOLE_ALLOWED_ORIGINS")),
]
