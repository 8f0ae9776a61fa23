# Placeholder: tests of the custom-channel REST API are being written.
