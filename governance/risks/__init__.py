"""The risk register and risk tiering: scoring, the EU AI Act questionnaire, risk and tier writes and reads."""
