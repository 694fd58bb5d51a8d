from django.shortcuts import render

from minqing.core.errors import NotFound, PermissionDenied


class ApplicationErrorMiddleware:
    """A NotFound raised anywhere in a page answers the ordinary 404 page (out of scope looks
    exactly like missing); a PermissionDenied the 403 page without any of the object's data."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            return render(request, "404.html", status=404)
        if isinstance(exception, PermissionDenied):
            return render(request, "403.html", {"message": exception.message}, status=403)
        return None
