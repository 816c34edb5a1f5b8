/* server.c -- a parser thread hands each request to a worker thread.
 *
 * The parser turns each request line into a graph in its own heap: a dict
 * with the method, the path and a dict of parameters, and a list of the
 * parameter names that points back at the request (a cycle, as real request
 * objects have). rc_move proves that nothing else holds the graph and makes
 * it the objects of a heap of its own (an envelope), which the parser
 * releases and queues. A worker acquires the envelope, answers the request,
 * drops the graph and frees the heap. No object is shared between threads
 * and no lock guards a reference count. Exits 0 when every request was
 * answered with the right sum. */
#include <recycle.h>
#include <recycle/builtins.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { REQUESTS = 2000, WORKERS = 2, QUEUE = 16 };

/* A bounded queue of request graphs (each in its envelope heap). */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t more, room;
    rc_dict *items[QUEUE];
    int head, len;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER,
       .room = PTHREAD_COND_INITIALIZER};

static void put(rc_dict *req)
{
    pthread_mutex_lock(&q.lock);
    while (q.len == QUEUE) pthread_cond_wait(&q.room, &q.lock);
    q.items[(q.head + q.len++) % QUEUE] = req;
    pthread_cond_signal(&q.more);
    pthread_mutex_unlock(&q.lock);
}

static rc_dict *get(void)
{
    pthread_mutex_lock(&q.lock);
    while (!q.len) pthread_cond_wait(&q.more, &q.lock);
    rc_dict *req = q.items[q.head];
    q.head = (q.head + 1) % QUEUE;
    q.len--;
    pthread_cond_signal(&q.room);
    pthread_mutex_unlock(&q.lock);
    return req;
}

/* Set d[key] = v and drop our reference to v (containers never steal). */
static void set_owned(rc_dict *d, const char *key, rc_val v)
{
    rc_str *k = rc_str_from_cstr(rc_heap_of(d), key);
    rc_dict_set(d, rc_obj(k), v);
    rc_decref(k);
    rc_val_decref(v);
}

/* "GET /sum?a=1&b=2" -> {"method": "GET", "path": "/sum",
 * "params": {"a": 1, "b": 2}, "names": ["a", "b", <the request>]} */
static rc_dict *parse(rc_heap *heap, const char *line)
{
    rc_dict *req = rc_dict_new(heap), *params = rc_dict_new(heap);
    rc_list *names = rc_list_new(heap, 4);
    const char *sp = strchr(line, ' '), *qm = strchr(line, '?');
    set_owned(req, "method", rc_obj(rc_str_new(heap, line, (size_t)(sp - line))));
    set_owned(req, "path", rc_obj(rc_str_new(heap, sp + 1, (size_t)(qm - sp - 1))));
    for (const char *p = qm + 1; *p;) {
        const char *eq = strchr(p, '='), *amp = strchr(p, '&');
        if (!amp) amp = p + strlen(p);
        rc_str *name = rc_str_new(heap, p, (size_t)(eq - p));
        rc_dict_set(params, rc_obj(name), rc_int(atol(eq + 1)));
        rc_list_append(names, rc_obj(name));
        rc_decref(name);
        p = *amp ? amp + 1 : amp;
    }
    rc_list_append(names, rc_obj(req));   /* the cycle */
    set_owned(req, "params", rc_obj(params));
    set_owned(req, "names", rc_obj(names));
    return req;
}

static void *parser(void *arg)
{
    (void)arg;
    rc_heap *heap = rc_heap_new(NULL);
    for (int i = 0; i < REQUESTS; i++) {
        char line[64];
        snprintf(line, sizeof line, "GET /sum?a=%d&b=%d&id=%d", i, 2 * i, i);
        rc_dict *req = parse(heap, line);
        /* The worker frees the envelope with the request's cycle in it, by
         * design: no end report wanted (debug builds print one by default). */
        rc_heap_config cfg;
        rc_heap_config_init(&cfg);
        cfg.leak_report = NULL;
        rc_heap *envelope = rc_heap_new(&cfg);
        rc_dict *moved = rc_move(envelope, req);   /* req is gone; moved is ours */
        if (!moved) {
            fprintf(stderr, "server: %s\n", rc_heap_error_message(heap));
            exit(1);
        }
        rc_heap_release(envelope);   /* from here on the worker's */
        put(moved);
    }
    for (int w = 0; w < WORKERS; w++) put(NULL);
    rc_heap_free(heap);
    return NULL;
}

static int answered, wrong;
static pthread_mutex_t tally = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    (void)arg;
    for (rc_dict *req; (req = get());) {
        rc_heap *envelope = rc_heap_of(req);
        rc_heap_acquire(envelope);
        rc_dict *params = rc_as_obj(rc_dict_get_str(req, "params"));
        int64_t a = rc_as_int(rc_dict_get_str(params, "a"));
        int64_t b = rc_as_int(rc_dict_get_str(params, "b"));
        int64_t id = rc_as_int(rc_dict_get_str(params, "id"));
        pthread_mutex_lock(&tally);
        answered++;
        wrong += a + b != 3 * id;
        pthread_mutex_unlock(&tally);
        rc_decref(req);           /* the cycle through "names" stays ... */
        rc_heap_free(envelope);   /* ... and goes with the heap */
    }
    return NULL;
}

int main(void)
{
    pthread_t p, w[WORKERS];
    for (int i = 0; i < WORKERS; i++) pthread_create(&w[i], NULL, worker, NULL);
    pthread_create(&p, NULL, parser, NULL);
    pthread_join(p, NULL);
    for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
    printf("%d requests answered by %d workers, %d wrong\n", answered, WORKERS, wrong);
    return answered == REQUESTS && !wrong ? 0 : 1;
}
