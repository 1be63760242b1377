"""The Telegram side: configuration, the conversation engine, channels (Telegram and console)."""
