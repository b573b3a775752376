"""The law's clock: majority and deadline facts as their days come (``prosperity clock``)."""
