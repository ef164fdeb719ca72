"""The ports plugins see: the channel contract, ChannelState, ChannelHost, the commit
notifier, CSAT recording. Abstract; the store implements them."""
