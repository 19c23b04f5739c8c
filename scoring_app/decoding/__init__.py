"""Request bodies read into the typed values the use cases take.

- ``score_body``: a scoring body into validated ``FeatureColumns``, by the fast
  decoder (``fast_rows``, msgspec) or, when it is not sure, the thorough path (orjson,
  ``envelope.rows_of``, ``validate_rows``), which names every problem by row and field.
- ``feedback_body``: a feedback body into ``FeedbackItem``s.
- ``envelope``: the ``{"rows": [...]}`` / ``{"items": [...]}`` check both share, and the
  row-count bound the request grouping sizes groups by.
"""
