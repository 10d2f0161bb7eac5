"""The customer web chat page: a sign-in with the sandbox's synthetic customers, then the
rasa-webchat widget talking to Rasa's socket.io channel as that customer (channels/socketio.py).
"""
