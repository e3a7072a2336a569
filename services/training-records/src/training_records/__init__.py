"""training_records"""
