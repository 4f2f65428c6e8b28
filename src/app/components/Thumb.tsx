import { useEffect, useRef } from 'react';

interface Props {
  /** 28x28 bytes (0..255 ink) or floats in [0, 1], row-major */
  image: ArrayLike<number> | null | undefined;
  size?: number;
  title?: string;
  testId?: string;
  className?: string;
}

const SIDE = 28;

/** A 28x28 drawing shown as dark ink on white, scaled up without smoothing. */
export function Thumb({ image, size = 42, title, testId, className }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    const g = c?.getContext('2d');
    if (!c || !g) return;
    const img = g.createImageData(SIDE, SIDE);
    const bytes = image && !(image instanceof Uint8Array) ? 255 : 1;
    for (let i = 0; i < SIDE * SIDE; i++) {
      const v = image ? Math.round(image[i] * bytes) : 0;
      const shade = 255 - Math.min(255, Math.max(0, v));
      img.data[i * 4] = shade;
      img.data[i * 4 + 1] = shade;
      img.data[i * 4 + 2] = shade;
      img.data[i * 4 + 3] = 255;
    }
    g.putImageData(img, 0, 0);
  }, [image]);
  return (
    <canvas
      ref={ref}
      width={SIDE}
      height={SIDE}
      className={`thumb ${className ?? ''}`}
      style={{ width: size, height: size, imageRendering: 'pixelated' }}
      title={title}
      role="img"
      aria-label={title ?? 'drawing'}
      data-testid={testId}
    />
  );
}
