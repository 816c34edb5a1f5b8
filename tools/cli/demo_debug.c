/*
 * demo_debug.c -- the release scene's `print(a)` after `del a`, caught.
 *
 * Built with RC_DEBUG, as a program that wants the debug checks is: its
 * inline calls (rc_refcount here) check their object and stop the program
 * with a message naming the call and what is wrong. The use runs in a child
 * process, so the demo goes on after the stop and can show the message.
 */
#define RC_DEBUG 1
#include "demo_scene.h"

#include "recycle.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int demo_use_after_release(const void *stale, char *msg, size_t cap)
{
    int fd[2];
    msg[0] = '\0';
    fflush(stdout);
    fflush(stderr);
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        unsigned n = rc_refcount(stale);   /* the use: stops here */
        fprintf(stderr, "not caught: rc_refcount returned %u\n", n);
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(fd[0], msg + len, cap - 1 - len)) > 0) len += (size_t)r;
    msg[len] = '\0';
    close(fd[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    char *nl = strchr(msg, '\n');
    if (nl) *nl = '\0';                     /* the first line names the call and the object */
    return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}
