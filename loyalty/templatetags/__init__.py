"""Template filters for points pages: money in the member's language, where a bonus came from."""
