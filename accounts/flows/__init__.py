"""Account flows: one module per flow, each owning its side effects (writes, audit events, mails, ended sessions).

Views parse the request, call one flow, and answer; see django-allauth's
account/internal/flows for the shape.
"""
