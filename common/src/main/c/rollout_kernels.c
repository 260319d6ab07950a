/*
 * y = x · Wᵀ for the few rows of a CPU decode step, W a Hugging Face [out, in] fp32 weight, read where libtorch keeps
 * it. At one to a few rows the step is bound by reading W; libtorch's SGEMM reads it at a fraction of what one core
 * can (docs/benchmarks.md), so this kernel streams 4 weight rows at a time past 4 input rows held in registers.
 *
 * Every output element is one 16-lane fma chain over `in` in order (the last, partial vector masked), then the same
 * lane sum: whatever the number of rows, the tiling or the split of the outputs between threads, a row's result is
 * the same bits (batch invariance).
 */
#include <jni.h>
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))

TARGET static inline __m512 load(const float *p, int k, int in) {
    int left = in - k;
    return left >= 16 ? _mm512_loadu_ps(p + k) : _mm512_maskz_loadu_ps((__mmask16) ((1u << left) - 1u), p + k);
}

/* 4 rows x 4 outputs: 16 accumulators, 4 weight vectors and one input vector in the 32 registers */
TARGET static void tile4x4(const float *x, const float *w, float *y, int in, int out) {
    __m512 a[4][4];
    for (int r = 0; r < 4; r++)
        for (int o = 0; o < 4; o++) a[r][o] = _mm512_setzero_ps();
    for (int k = 0; k < in; k += 16) {
        __m512 w0 = load(w, k, in), w1 = load(w + in, k, in), w2 = load(w + 2 * in, k, in), w3 = load(w + 3 * in, k, in);
        for (int r = 0; r < 4; r++) {
            __m512 v = load(x + (size_t) r * in, k, in);
            a[r][0] = _mm512_fmadd_ps(v, w0, a[r][0]);
            a[r][1] = _mm512_fmadd_ps(v, w1, a[r][1]);
            a[r][2] = _mm512_fmadd_ps(v, w2, a[r][2]);
            a[r][3] = _mm512_fmadd_ps(v, w3, a[r][3]);
        }
    }
    for (int r = 0; r < 4; r++)
        for (int o = 0; o < 4; o++) y[(size_t) r * out + o] = _mm512_reduce_add_ps(a[r][o]);
}

/* 1 row x 4 outputs */
TARGET static void tile1x4(const float *x, const float *w, float *y, int in) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int k = 0; k < in; k += 16) {
        __m512 v = load(x, k, in);
        a0 = _mm512_fmadd_ps(v, load(w, k, in), a0);
        a1 = _mm512_fmadd_ps(v, load(w + in, k, in), a1);
        a2 = _mm512_fmadd_ps(v, load(w + 2 * in, k, in), a2);
        a3 = _mm512_fmadd_ps(v, load(w + 3 * in, k, in), a3);
    }
    y[0] = _mm512_reduce_add_ps(a0);
    y[1] = _mm512_reduce_add_ps(a1);
    y[2] = _mm512_reduce_add_ps(a2);
    y[3] = _mm512_reduce_add_ps(a3);
}

/* 1 row x 1 output, for the outputs past the last multiple of 4 */
TARGET static float dot(const float *x, const float *w, int in) {
    __m512 a = _mm512_setzero_ps();
    for (int k = 0; k < in; k += 16) a = _mm512_fmadd_ps(load(x, k, in), load(w, k, in), a);
    return _mm512_reduce_add_ps(a);
}

TARGET static void multiply(const float *x, const float *w, float *y, int rows, int in, int out, int from, int to) {
    int o = from;
    for (; o + 4 <= to; o += 4) {
        const float *wo = w + (size_t) o * in;
        int r = 0;
        for (; r + 4 <= rows; r += 4) tile4x4(x + (size_t) r * in, wo, y + (size_t) r * out + o, in, out);
        for (; r < rows; r++) tile1x4(x + (size_t) r * in, wo, y + (size_t) r * out + o, in);
    }
    for (; o < to; o++)
        for (int r = 0; r < rows; r++) y[(size_t) r * out + o] = dot(x + (size_t) r * in, w + (size_t) o * in, in);
}

JNIEXPORT jboolean JNICALL Java_dev_rollout_model_NativeProjection_supported(JNIEnv *env, jclass cls) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? JNI_TRUE : JNI_FALSE;
}

/* outputs [from, to) of y [rows, out] = x [rows, in] · w [out, in]ᵀ; the buffers are direct, the caller checked sizes */
JNIEXPORT void JNICALL Java_dev_rollout_model_NativeProjection_multiply(JNIEnv *env, jclass cls, jobject x, jobject w,
        jobject y, jint rows, jint in, jint out, jint from, jint to) {
    multiply((const float *) (*env)->GetDirectBufferAddress(env, x), (const float *) (*env)->GetDirectBufferAddress(env, w),
            (float *) (*env)->GetDirectBufferAddress(env, y), rows, in, out, from, to);
}
