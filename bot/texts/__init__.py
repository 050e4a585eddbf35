"""Every sentence linli says to people, in short polite simplified Chinese, and nowhere else.

``names`` holds the shared vocabulary (the one table of state names residents, leaders and staff see);
``chat`` what the bot answers in groups and direct messages; ``schedule`` what it says on a clock;
``digest`` and ``council`` the weekly digest and the council agenda.
"""
