"""The HTTP edge: routers, dependencies, middleware and the one error renderer."""
