from django.urls import path

from chat import staff_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("chat/", views.visitor_chat, name="visitor_chat"),
    path("chat/quick-exit/", views.quick_exit, name="quick_exit"),
    path("staying-safe/", views.staying_safe, name="staying_safe"),
    path("widget.js", views.widget_script, name="widget_script"),
    path("widget/demo/", views.widget_demo, name="widget_demo"),
    path("widget/config", views.widget_config, name="widget_config"),
    path("widget/frame/", views.widget_frame, name="widget_frame"),
    path("widget/theme.css", views.widget_theme, name="widget_theme"),
    path("console/status/", staff_views.staff_status, name="staff_status"),
]
