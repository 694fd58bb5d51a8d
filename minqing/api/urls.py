from ninja import NinjaAPI

api = NinjaAPI(title="minqing API", version="1", urls_namespace="api")
