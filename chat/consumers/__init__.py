"""The two websockets: the visitor's (/ws/visitor/, visitor.py) and the staff console's
(/ws/console/, staff.py). Thin: validate, call one service, reply (chat.engine.socket holds what they
share)."""
