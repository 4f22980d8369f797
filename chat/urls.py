from django.urls import path

from chat import views

urlpatterns = [
    path("", views.home, name="home"),
    path("chat/", views.visitor_chat, name="visitor_chat"),
    path("chat/quick-exit/", views.quick_exit, name="quick_exit"),
]
