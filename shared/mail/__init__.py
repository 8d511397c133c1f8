"""Mail: reading what customers send to the AR mailbox and tying it to their account."""
