"""Wire formats: how records, answers and events look in bytes on the way between parts.

The rules live in ``edgeloop.domain``; these modules only encode and decode, and may import
the domain, never the other way round.
"""
