"""Bytes and files in and out: campaign data files, workbooks, mail."""
