"""Local channel simulators speaking the channels' real wire protocols over loopback."""
