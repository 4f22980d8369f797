"""Protocol v1: every websocket message, both ways, as a typed schema.

Inbound messages are validated against a discriminated union on `type` (visitor.py, staff.py);
unknown types and unknown fields are rejected. What the server sends is outbound.py, the reply
envelope and the field types common.py, the error and close codes codes.py. docs/protocol.md
carries a reference generated from these classes (`manage.py protocol_doc`), and a test keeps
the two in step.
"""
