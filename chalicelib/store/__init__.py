"""PynamoDB models and the queries the services need. Conditions and transactions live here."""
