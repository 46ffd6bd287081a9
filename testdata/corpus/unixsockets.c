/* pycore-unix: unix sockets for the corpus's io scenario (issue 13, net -s/-S):
 * a stream listener bound to PATH (argv[1]) with one connection accepted
 * from a client of its own, and an anonymous stream socketpair; all left
 * open and idle while it sleeps until the crash. Built static with the
 * host's gcc (guest.py HELPERS): the guest has no libc. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what)
{
    perror(what);
    return 1;
}

int main(int argc, char **argv)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    int pair[2], listener, client, accepted;

    if (argc != 2 || strlen(argv[1]) >= sizeof(address.sun_path)) {
        fprintf(stderr, "usage: pycore-unix PATH\n");
        return 2;
    }
    strcpy(address.sun_path, argv[1]);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
        return fail("pycore-unix: socketpair");
    listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0)
        return fail("pycore-unix: socket");
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0 || listen(listener, 1) < 0)
        return fail("pycore-unix: bind/listen");
    client = socket(AF_UNIX, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof(address)) < 0)
        return fail("pycore-unix: connect");
    accepted = accept(listener, NULL, NULL);
    if (accepted < 0)
        return fail("pycore-unix: accept");
    for (;;)
        pause();
}
