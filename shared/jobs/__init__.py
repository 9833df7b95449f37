"""Transcription jobs: long audio handed to the blob door, its state in a status document per job.

An HTTP request must end within 230 s, so long audio becomes a job: its audio lands in the input
container as ``jobs/<id>.<ext>`` (an upload URL, or a ``POST`` body answered 202), the blob trigger
transcribes it like any dropped file, and the job's status document, beside its results, moves
forward with it. No database: blobs and ETag-conditional writes.

- ``names``: ids (time-ordered, newest first) and every blob name built from them;
- ``model``: the status document and its states;
- ``store``: reading and ETag-conditional writing of documents; create, start, progress;
- ``completion``: ending a job and sending its completion message exactly once;
- ``listing``: a page of recent jobs; deleting a job;
- ``views``: the job's URLs and public JSON (the only ``API_BASE``);
- ``tracker``: the blob door's handle on the job it is transcribing.
"""
