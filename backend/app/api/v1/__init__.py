API_V1_PREFIX = "/api/v1"  # every v1 route, REST (router.py) and sockets (websocket.py)
