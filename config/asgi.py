import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.routing import websocket_urlpatterns as chat_ws  # noqa: E402
from config import connections  # noqa: E402

connections.install()

websocket_routes = [*chat_ws]
if os.environ.get("BENCH_RELAY") == "1":
    # The benchmark's baseline relays (bench/relay.py); never routed otherwise.
    from django.urls import path

    from bench.relay import BenchRelayConsumer, BenchWritingRelayConsumer

    websocket_routes.append(path("ws/bench-relay/", BenchRelayConsumer.as_asgi()))
    websocket_routes.append(path("ws/bench-relay-write/", BenchWritingRelayConsumer.as_asgi()))

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_routes),
    }
)
