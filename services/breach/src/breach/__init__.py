"""breach"""
