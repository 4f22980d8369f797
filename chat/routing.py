from django.urls import path

from chat.consumers import VisitorConsumer
from chat.origins import ExactOriginValidator

websocket_urlpatterns = [
    path("ws/visitor/", ExactOriginValidator(VisitorConsumer.as_asgi(), "WIDGET_ALLOWED_ORIGINS")),
]
