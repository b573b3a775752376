"""The public, versioned face of prosperity: the commands it accepts and the events it publishes."""
