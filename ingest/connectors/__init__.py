"""Source connectors: one module per engine, registered by kind (see ``base``)."""
