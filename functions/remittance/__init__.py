"""The remittance function: bank files dropped under the inbox's remittance prefix, taken in."""
