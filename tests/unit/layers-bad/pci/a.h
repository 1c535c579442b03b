int a_fn(void);
