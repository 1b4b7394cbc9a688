/*
 * A minimal extension module for tests/test_interception_ext.py.
 *
 * It leaves two traces in the file named by $SPAM_MARKER, so that a test can prove a refused import
 * never touched it: "loaded" when the dynamic loader maps the library (a constructor, run by
 * dlopen before Python sees the module) and "PyInit_spam" when CPython calls the init function.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>

static void
spam_mark(const char *what)
{
    const char *path = getenv("SPAM_MARKER");
    FILE *stream;

    if (path == NULL || path[0] == '\0') {
        return;
    }
    stream = fopen(path, "a");
    if (stream != NULL) {
        fputs(what, stream);
        fputc('\n', stream);
        fclose(stream);
    }
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((constructor)) static void
spam_on_load(void)
{
    spam_mark("loaded");
}
#endif

static PyObject *
spam_ping(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromLong(42);
}

static PyMethodDef spam_methods[] = {
    {"ping", spam_ping, METH_NOARGS, "Return 42."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef spam_module = {
    PyModuleDef_HEAD_INIT, "spam", "Test extension for importspy-hook.", -1, spam_methods,
};

PyMODINIT_FUNC
PyInit_spam(void)
{
    spam_mark("PyInit_spam");
    return PyModule_Create(&spam_module);
}
