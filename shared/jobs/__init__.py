"""Transcription jobs: long audio handed to the blob door, its state in a status document per job.

An HTTP request must end within 230 s, so long audio becomes a job: its audio lands in the input container as
``jobs/<id>.<ext>``, the blob trigger transcribes it like any dropped file, and the job's status document
moves forward with it. No database: blobs and ETag-conditional writes.
"""
