"""Cash: bank files and remittance advice as they arrive, and later their application."""
