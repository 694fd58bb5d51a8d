"""What the registry tells the rest of the platform, without knowing who listens (the care plan in
minqing.visits keeps a due date per household from members, tags and age thresholds).

Both are sent inside the writing transaction, after the write, so a receiver reads the new state and
its own writes commit or roll back with the registry's."""

from django.dispatch import Signal

# Who lives in these households, their status, birth dates or tags may have changed.
# Keyword argument: household_ids (a collection of ids).
households_changed = Signal()

# What a tag means in these communities changed (an age threshold, a tag retired): every household
# there may be concerned. Keyword argument: community_ids (a collection of ids; None: all).
communities_changed = Signal()
