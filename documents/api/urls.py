from django.urls import path
from rest_framework.routers import DefaultRouter

from ..tus import UploadCreateView, UploadDetailView
from .views import DocumentRequestViewSet, DocumentViewSet

router = DefaultRouter()
router.register("documents", DocumentViewSet, basename="document")
router.register("document-requests", DocumentRequestViewSet, basename="documentrequest")

urlpatterns = [
    path("uploads/", UploadCreateView.as_view(), name="upload-list"),
    path("uploads/<uuid:pk>/", UploadDetailView.as_view(), name="upload-detail"),
    *router.urls,
]
