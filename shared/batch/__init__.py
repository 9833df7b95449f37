"""Batch transcription (the Speech service's asynchronous REST engine), the cheapest per audio hour: the blob
door submits the recording by its plain URL and the invocation ends (``submit``); the service's callback or the
sweep finishes it (``finish``) into the same ``Transcript`` every engine gives. Import the modules themselves.
"""
