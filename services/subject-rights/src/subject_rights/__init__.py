"""subject_rights"""
