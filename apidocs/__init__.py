"""What the hub's and a member node's HTTP documentation share: recorded exchanges placed
as OpenAPI examples (`recorded`, pure) and the offline `/docs` and `/redoc` pages
(`pages`, FastAPI). Neither imports the hub or the node, so both faces may import it
without the node reaching into the hub."""

__all__ = ["pages", "recorded"]
