"""Case packets: the snapshot (what goes in), the diff between versions, and the renderings
(JSON, PDF summary in English and Chinese, streamed ZIP bundle, FHIR R4 document Bundle)."""
