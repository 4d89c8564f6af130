"""The small platform every resource package stands on: the request's unit of work."""
